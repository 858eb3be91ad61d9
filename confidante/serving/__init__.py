"""The HTTP endpoint: protocol (wire models), keys and auth, handlers, app (thin routes), server."""
