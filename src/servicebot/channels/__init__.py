"""Channel adapters: each decodes its input, asks the conversation, renders the Reply."""
