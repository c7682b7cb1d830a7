"""Configuration: the pipeline file (YAML), validated with line-numbered errors."""

from tenantwatch.config.loader import ConfigErrors as ConfigErrors
from tenantwatch.config.loader import load_config as load_config
from tenantwatch.config.loader import validate_text as validate_text
from tenantwatch.config.model import PipelineConfig as PipelineConfig

__all__ = ["ConfigErrors", "PipelineConfig", "load_config", "validate_text"]
