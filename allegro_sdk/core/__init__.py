"""The SDK's pure core: no browser imports; every effect (cookies, network, clock) is injected."""
