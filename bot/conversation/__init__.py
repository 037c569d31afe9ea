"""Understanding a message and handing it to a handler: grammar, routing, dispatch, the handler's context."""
