"""One router module per API tag; each route calls one service method and returns its wire value."""
