"""The web console's bootstrap: what every console page needs once per session, in one request."""
