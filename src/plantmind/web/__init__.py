"""The edge node's web page: templates and static files."""
