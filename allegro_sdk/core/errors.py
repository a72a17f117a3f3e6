"""Errors the SDK reports to the host page (as rejected promises with these messages)."""


class TrackingError(Exception):
    """An event could not be tracked; the message says why, in words a site developer can act on."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidCallError(TrackingError):
    """The SDK was called with arguments it cannot accept."""


class DeliveryError(TrackingError):
    """The collector refused the event or could not be reached."""


class NotStored(TrackingError):
    """Not a failure: the visitor's choice kept the event from being stored (or sent). Made as
    NotStored(message, event_id); the API resolves the event's promise with
    `{event_id, stored: false}` instead of rejecting it."""
