"""Working stand-ins for the systems the portal does not own: the SSO provider and the provincial system."""
