"""The platform's stack layer (not part of the reusable package): the stack-file model
(`settings`), the loader that runs every component's checks before anything is registered
(`loader`), and the schema and configuration reference generated from the model."""

from .loader import Stack, load_stack
from .settings import ConfigError, StackSettings, load_stack_settings, settings_from_config

__all__ = [
    "ConfigError",
    "Stack",
    "StackSettings",
    "load_stack",
    "load_stack_settings",
    "settings_from_config",
]
