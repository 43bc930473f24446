"""Every resolved difference between two profiles, each with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solbot.config.loader import LoadedRule, ResolvedProfile

MISSING_VALUE = "<absent>"


@dataclass(frozen=True)
class Difference:
    path: str
    old: Any
    new: Any
    old_origin: str
    new_origin: str

    @property
    def kind(self) -> str:
        if self.old == MISSING_VALUE:
            return "added"
        if self.new == MISSING_VALUE:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "old": None if self.old == MISSING_VALUE else self.old,
            "new": None if self.new == MISSING_VALUE else self.new,
            "old_origin": self.old_origin,
            "new_origin": self.new_origin,
        }


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted paths; lists stay whole values."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key in sorted(data):
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(data[key], path))
        return out
    return {prefix: data}


def _origin(resolved: ResolvedProfile, path: str) -> str:
    probe = path
    while probe:
        if probe in resolved.origins:
            return resolved.origins[probe]
        probe = probe.rsplit(".", 1)[0] if "." in probe else ""
    return "default"


SKIPPED = {"id", "description", "extends", "rules.include", "rules.override"}


def diff_profiles(old: ResolvedProfile, new: ResolvedProfile) -> list[Difference]:
    """Settings first (params, quoting, hedger, guard, limits, regimes), then rules."""
    left, right = flatten(old.data), flatten(new.data)
    found: list[Difference] = []
    for path in sorted(set(left) | set(right)):
        if path in SKIPPED or any(path.startswith(skip + ".") for skip in SKIPPED):
            continue
        a, b = left.get(path, MISSING_VALUE), right.get(path, MISSING_VALUE)
        if a != b:
            found.append(Difference(path, a, b, _origin(old, path), _origin(new, path)))
    found.extend(_rule_differences(old, new))
    return found


def _rule_differences(old: ResolvedProfile, new: ResolvedProfile) -> list[Difference]:
    left = {rule.rule.id: rule for rule in old.rules}
    right = {rule.rule.id: rule for rule in new.rules}
    found: list[Difference] = []
    for rule_id in sorted(set(left) | set(right)):
        a, b = left.get(rule_id), right.get(rule_id)
        if a is None or b is None:
            present = a or b
            assert present is not None
            where = present.origin()
            found.append(
                Difference(
                    f"rules.{rule_id}",
                    MISSING_VALUE if a is None else "present",
                    MISSING_VALUE if b is None else "present",
                    where if a is not None else "-",
                    where if b is not None else "-",
                )
            )
            continue
        found.extend(_one_rule(rule_id, a, b, old, new))
    return found


def _one_rule(
    rule_id: str, a: LoadedRule, b: LoadedRule, old: ResolvedProfile, new: ResolvedProfile
) -> list[Difference]:
    left, right = flatten(a.resolved()), flatten(b.resolved())
    found = []
    for field in sorted(set(left) | set(right)):
        x, y = left.get(field, MISSING_VALUE), right.get(field, MISSING_VALUE)
        if x == y:
            continue
        top = field.split(".")[0]
        found.append(
            Difference(
                f"rules.{rule_id}.{field}",
                x,
                y,
                _rule_origin(old, rule_id, top, a),
                _rule_origin(new, rule_id, top, b),
            )
        )
    return found


def _rule_origin(resolved: ResolvedProfile, rule_id: str, field: str, rule: LoadedRule) -> str:
    override = resolved.origins.get(f"rules.override.{rule_id}.{field}")
    if override:
        return override
    return rule.origin(field) if field in rule.rule.model_fields_set else rule.origin()


def render_text(differences: list[Difference], old_name: str, new_name: str) -> str:
    if not differences:
        return f"profiles {old_name} and {new_name} resolve to the same settings and rules\n"
    lines = [f"{len(differences)} differences: {old_name} -> {new_name}"]
    for item in differences:
        lines.append(f"{item.path}: {_show(item.old)} -> {_show(item.new)}")
        lines.append(f"    {old_name}: {item.old_origin}    {new_name}: {item.new_origin}")
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    """Values as they would be written in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "null"
    return str(value)
