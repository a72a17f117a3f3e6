"""A small publisher site that uses the allegro SDK, for people and for the browser tests."""
