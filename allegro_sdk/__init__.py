"""allegro's browser SDK: a pure-Python core (core/) and the thin layer that touches the browser."""
