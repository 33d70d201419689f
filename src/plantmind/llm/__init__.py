"""Model clients: one small OpenAI-compatible chat client (:mod:`plantmind.llm.client`)
that every capability uses to reach a language model, wherever it is served (llama.cpp,
vLLM, Ollama, a hosted API). The endpoint and model name come from configuration, the API
key only from an environment variable. Callers keep a deterministic path for when no model
is configured or the model fails, and say in their output which path answered.

The router (which model for which task, sensitivity and connectivity) builds on this client.
"""

from plantmind.llm.client import ChatClient, ChatResult, LLMConfig, LLMError, LLMTimeout

__all__ = ["ChatClient", "ChatResult", "LLMConfig", "LLMError", "LLMTimeout"]
