"""Generation: the chat-model Protocol, one module per backend, the factory, weights, adapters."""
