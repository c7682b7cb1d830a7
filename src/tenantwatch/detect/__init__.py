"""Stage 3: detection (Sigma rules compiled to Polars, correlations, findings)."""

from tenantwatch.detect.engine import DetectionEngine as DetectionEngine
from tenantwatch.detect.engine import FindingChange as FindingChange
from tenantwatch.detect.rules import RuleSet as RuleSet

__all__ = ["DetectionEngine", "FindingChange", "RuleSet"]
