"""Reading a pipeline file: YAML with line numbers, validated, every mistake reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tenantwatch.config.model import PipelineConfig
from tenantwatch.errors import ConfigError

__all__ = ["ConfigErrors", "load_config", "resolve_paths", "validate_text", "validate_yaml"]

M = TypeVar("M", bound=BaseModel)


class ConfigErrors(ConfigError):
    """Several problems in one file; ``errors`` lists each with its line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.problem, path=first.path, line=first.line, fix=first.fix)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the YAML node at ``loc`` (pydantic's error location), or its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                # an unknown key: point at the key itself when it exists
                key_node = next((k for k, _ in node.value if k.value == key), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _fix_for(error: Any, reference: str) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"remove it, or check its spelling against `{reference}`"
    if kind == "missing":
        return "add it"
    if kind == "literal_error":
        return "use one of the values listed"
    return ""


def validate_text(text: str, path: str = "<config>") -> PipelineConfig:
    """Parse and validate a pipeline file's text; raise :class:`ConfigErrors` with every problem."""
    return validate_yaml(text, path, PipelineConfig, _reference_errors)


def validate_yaml(
    text: str,
    path: str,
    model: type[M],
    extra_checks: Callable[[dict[str, Any], yaml.Node | None, str], list[ConfigError]]
    | None = None,
    reference: str = "tenantwatch config init",
) -> M:
    """Parse YAML ``text`` into ``model``; raise :class:`ConfigErrors` naming the file, the line
    and a fix for every problem (also used for access policy files)."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.column == 0 and mark.line > 0:
            # noticed at the start of the next line: the mistake is at the end of this one
            mark = type(mark)(mark.name, mark.index, mark.line - 1, 0, mark.buffer, mark.pointer)
        raise ConfigErrors(
            [
                ConfigError(
                    f"not valid YAML: {getattr(exc, 'problem', exc)}",
                    path=path,
                    line=mark.line + 1 if mark else None,
                    fix="check indentation and quoting",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise ConfigErrors(
            [ConfigError("the file must be a YAML mapping (key: value lines)", path=path, line=1)]
        )
    references = extra_checks(data, node, path) if extra_checks else []
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        errors = []
        raw = exc.errors()
        inner = {tuple(e["loc"][:n]) for e in raw for n in range(1, len(e["loc"]))}
        for error in raw:
            if error["type"] == "too_short" and tuple(error["loc"]) in inner:
                continue  # "no items" only because an item inside was wrong: report that item
            loc = tuple(
                p
                for p in error["loc"]
                if not (isinstance(p, str) and p.startswith(("function-", "tagged-union")))
            )
            # pydantic adds the model name for validators on a whole model; drop it
            loc = tuple(p for p in loc if p != model.__name__)
            message = error["msg"].removeprefix("Value error, ")
            where = ".".join(str(p) for p in loc) or "(file)"
            errors.append(
                ConfigError(
                    f"{where}: {message}",
                    path=path,
                    line=_line_of(node, loc),
                    fix=_fix_for(error, reference),
                )
            )
        raise ConfigErrors(sorted([*errors, *references], key=lambda e: e.line or 0)) from None
    if references:
        raise ConfigErrors(references)
    return config


def _reference_errors(data: dict[str, Any], node: yaml.Node | None, path: str) -> list[ConfigError]:
    """Sources naming tenants that are not defined, found even when other fields are wrong."""
    tenants = data.get("tenants") or []
    known = {t.get("id") for t in tenants if isinstance(t, dict)}
    errors = []
    for i, source in enumerate(data.get("sources") or []):
        if (
            isinstance(source, dict)
            and source.get("tenant") is not None
            and source["tenant"] not in known
        ):
            errors.append(
                ConfigError(
                    f"sources.{i}.tenant: tenant {source['tenant']!r} is not defined",
                    path=path,
                    line=_line_of(node, ("sources", i, "tenant")),
                    fix="use one of: "
                    + (", ".join(sorted(str(k) for k in known)) or "(define tenants: first)"),
                )
            )
    return errors


def load_config(path: Path) -> PipelineConfig:
    """Read and validate a pipeline file; relative paths in it are taken from its directory
    (sink paths from ``data_dir``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return resolve_paths(validate_text(text, str(path)), path.parent)


def resolve_paths(config: PipelineConfig, base: Path) -> PipelineConfig:
    """``config`` with its relative paths made absolute against ``base``."""

    def absolute(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else base / p

    data_dir = absolute(config.data_dir) or config.data_dir
    tenants = []
    for t in config.tenants:
        changes: dict[str, Any] = {}
        if t.ca_file is not None and absolute(t.ca_file):
            changes["ca_file"] = absolute(t.ca_file)
        if (
            t.client_secret is not None
            and t.client_secret.file is not None
            and absolute(t.client_secret.file)
        ):
            changes["client_secret"] = t.client_secret.model_copy(
                update={"file": absolute(t.client_secret.file)}
            )
        if t.certificate is not None and absolute(t.certificate.key_file):
            changes["certificate"] = t.certificate.model_copy(
                update={"key_file": absolute(t.certificate.key_file)}
            )
        tenants.append(t.model_copy(update=changes))

    def secret(ref: Any) -> Any:
        if ref is None or ref.file is None or ref.file.is_absolute():
            return ref
        return ref.model_copy(update={"file": base / ref.file})

    sources = [
        s.model_copy(
            update={
                "path": absolute(s.path) or s.path,
                "ca_file": absolute(s.ca_file) or s.ca_file,
                "connection_string": secret(s.connection_string),
            }
        )
        for s in config.sources
    ]

    sinks = []
    for k in config.sinks:
        update: dict[str, Any] = {
            name: secret(getattr(k, name)) for name in ("secret", "webhook_url", "password")
        }
        if k.path is not None and not k.path.is_absolute():
            update["path"] = data_dir / k.path
        if k.ca_file is not None and not k.ca_file.is_absolute():
            update["ca_file"] = base / k.ca_file
        sinks.append(k.model_copy(update=update))
    metrics = config.metrics
    if metrics is not None:
        metrics = metrics.model_copy(update={"token": secret(metrics.token)})
    return config.model_copy(
        update={
            "data_dir": data_dir,
            "tenants": tuple(tenants),
            "sources": tuple(sources),
            "sinks": tuple(sinks),
            "metrics": metrics,
            "access": config.access.model_copy(
                update={"policy": absolute(config.access.policy) or config.access.policy}
            ),
        }
    )
