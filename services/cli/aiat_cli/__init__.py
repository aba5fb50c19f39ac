"""`aiat`: the command line of AIAT Snippets, a client of its REST API only."""
