"""Turning ``app create`` / ``app set`` / ``app unset`` flags into an ApplicationSpec, as upstream's flag set does."""

from __future__ import annotations

import argparse
from typing import Any

from argocd_server.cli.commands._util import key_values
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool


def add_spec_flags(p: ArgParser, *, for_set: bool) -> None:
    """Source, destination and sync flags shared by ``create`` and ``set``.

    For ``set`` booleans default to None so an absent flag leaves the stored value alone.
    """
    unset: bool | None = None if for_set else False
    p.add_argument("--repo", default=None, help="repository URL")
    p.add_argument("--path", default=None, help="path inside the repository")
    p.add_argument("--revision", default=None, help="revision (branch, tag, commit or chart version) to track")
    p.add_argument("--helm-chart", default=None, help="Helm chart name (Helm repositories)")
    p.add_argument("--ref", default=None, help="reference name of a source (multi-source)")
    p.add_argument("--source-position", type=int, default=0, help="1-based source to change (multi-source)")
    p.add_argument("--source-name", default=None, help="name of the source to change (multi-source)")
    p.add_argument("--dest-server", default=None, help="destination cluster URL")
    p.add_argument("--dest-name", default=None, help="destination cluster name")
    p.add_argument("--dest-namespace", default=None, help="destination namespace")
    p.add_argument("--project", default=None, help="project")
    p.add_argument("--sync-policy", default=None, help="none (manual) or automated (auto)")
    add_bool(p, "--auto-prune", help="let automated sync prune resources", default=unset)  # type: ignore[arg-type]
    add_bool(p, "--self-heal", help="let automated sync revert drift", default=unset)  # type: ignore[arg-type]
    add_bool(p, "--allow-empty", help="let automated sync leave the app with no resources", default=unset)  # type: ignore[arg-type]
    p.add_argument("--sync-option", action="append", default=None, help="sync option Key=Value; !Key removes it")
    p.add_argument("--sync-retry-limit", type=int, default=None, help="automated sync retries (0 = none)")
    p.add_argument("--sync-retry-backoff-duration", default="5s", help="first retry delay")
    p.add_argument("--sync-retry-backoff-max-duration", default="3m0s", help="longest retry delay")
    p.add_argument("--sync-retry-backoff-factor", type=int, default=2, help="retry delay multiplier")
    p.add_argument("--helm-set", action="append", default=None, help="Helm parameter name=value")
    p.add_argument("--helm-set-string", action="append", default=None, help="Helm string parameter name=value")
    p.add_argument("--helm-set-file", action="append", default=None, help="Helm file parameter name=path")
    p.add_argument("--values", action="append", default=None, help="Helm values file in the source")
    p.add_argument("--values-literal-file", default=None, help="local file whose content becomes inline values")
    p.add_argument("--release-name", default=None, help="Helm release name")
    p.add_argument("--helm-version", default=None, help=argparse.SUPPRESS)
    p.add_argument("--helm-namespace", default=None, help="namespace Helm renders into")
    add_bool(p, "--helm-skip-crds", help="skip the chart's CRDs", default=unset)  # type: ignore[arg-type]
    add_bool(p, "--helm-pass-credentials", help="pass credentials to every domain", default=unset)  # type: ignore[arg-type]
    add_bool(p, "--ignore-missing-value-files", help="tolerate missing values files", default=unset)  # type: ignore[arg-type]
    p.add_argument("--kustomize-image", action="append", default=None, help="Kustomize image override")
    p.add_argument("--kustomize-version", default=None, help="Kustomize version")
    p.add_argument("--kustomize-namespace", default=None, help="Kustomize namespace")
    p.add_argument("--kustomize-common-label", action="append", default=None, help="Kustomize common label k=v")
    p.add_argument("--kustomize-common-annotation", action="append", default=None, help="common annotation k=v")
    p.add_argument("--nameprefix", default=None, help="Kustomize name prefix")
    p.add_argument("--namesuffix", default=None, help="Kustomize name suffix")
    add_bool(p, "--directory-recurse", help="read the directory recursively", default=unset)  # type: ignore[arg-type]
    p.add_argument("--directory-include", default=None, help="glob of files to include")
    p.add_argument("--directory-exclude", default=None, help="glob of files to exclude")
    p.add_argument("--jsonnet-tla-str", action="append", default=None, help="Jsonnet top-level string k=v")
    p.add_argument("--jsonnet-ext-var-str", action="append", default=None, help="Jsonnet external string k=v")
    p.add_argument("--config-management-plugin", default=None, help="config management plugin name")
    p.add_argument("--plugin-env", action="append", default=None, help="plugin environment variable K=V")
    p.add_argument("--revision-history-limit", type=int, default=None, help="history entries to keep")
    add_bool(p, "--validate", help="let the server validate the spec", default=True)


def _source(spec: dict[str, Any], ctx: Context) -> dict[str, Any]:
    sources = spec.get("sources")
    if sources:
        position = int(ctx.source_position or 0)
        name = ctx.source_name
        if name:
            for candidate in sources:
                if candidate.get("name") == name:
                    found: dict[str, Any] = candidate
                    return found
            raise CliError(f"source with name '{name}' not found")
        if position <= 0:
            raise CliError(
                "Source position should be specified and must be greater than 0 for applications with multiple sources"
            )
        if position > len(sources):
            raise CliError("Source position should be less than the number of sources in the application")
        chosen: dict[str, Any] = sources[position - 1]
        return chosen
    source: dict[str, Any] = spec.setdefault("source", {})
    return source


def _set_param(params: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    for index, existing in enumerate(params):
        if existing.get("name") == entry["name"]:
            params[index] = entry
            return
    params.append(entry)


def _sync_options(policy: dict[str, Any], options: list[str]) -> None:
    current: list[str] = list(policy.get("syncOptions") or [])
    for option in options:
        if option.startswith("!"):
            key = option[1:].split("=", 1)[0]
            current = [o for o in current if o.split("=", 1)[0] != key and o != option[1:]]
            continue
        if "=" not in option:
            raise UsageError(f"sync option must be Key=Value: {option}")
        key = option.split("=", 1)[0]
        current = [o for o in current if o.split("=", 1)[0] != key]
        current.append(option)
    if current:
        policy["syncOptions"] = current
    else:
        policy.pop("syncOptions", None)


def _automated_flag(policy: dict[str, Any], *, flag: str, key: str, value: bool | None) -> None:
    if value is None:
        return
    automated = policy.get("automated")
    if automated is None:
        if not value:
            return
        raise CliError(f"Cannot set --{flag}: application not configured with automatic sync")
    if value:
        automated[key] = True
    else:
        automated.pop(key, None)


def apply_spec_flags(spec: dict[str, Any], ctx: Context) -> None:
    """Mutates ``spec`` with every flag the user gave."""
    has_source_flag = any(
        getattr(ctx.args, a, None) is not None
        for a in (
            "repo",
            "path",
            "revision",
            "helm_chart",
            "ref",
            "helm_set",
            "helm_set_string",
            "helm_set_file",
            "values",
            "values_literal_file",
            "release_name",
            "helm_namespace",
            "helm_skip_crds",
            "helm_pass_credentials",
            "ignore_missing_value_files",
            "kustomize_image",
            "kustomize_version",
            "kustomize_namespace",
            "kustomize_common_label",
            "kustomize_common_annotation",
            "nameprefix",
            "namesuffix",
            "directory_recurse",
            "directory_include",
            "directory_exclude",
            "jsonnet_tla_str",
            "jsonnet_ext_var_str",
            "config_management_plugin",
            "plugin_env",
        )
    )
    if has_source_flag:
        _apply_source_flags(_source(spec, ctx), ctx)
    destination: dict[str, Any] = spec.setdefault("destination", {})
    if ctx.dest_server is not None:
        destination["server"] = ctx.dest_server
        destination.pop("name", None)
    if ctx.dest_name is not None:
        destination["name"] = ctx.dest_name
        destination.pop("server", None)
    if ctx.dest_namespace is not None:
        destination["namespace"] = ctx.dest_namespace
    if ctx.project is not None:
        spec["project"] = ctx.project
    if ctx.revision_history_limit is not None:
        spec["revisionHistoryLimit"] = ctx.revision_history_limit
    _apply_sync_flags(spec, ctx)


def _apply_sync_flags(spec: dict[str, Any], ctx: Context) -> None:
    policy: dict[str, Any] = dict(spec.get("syncPolicy") or {})
    if ctx.sync_policy is not None:
        choice = ctx.sync_policy.lower()
        if choice in ("none", "manual", ""):
            policy.pop("automated", None)
        elif choice in ("automated", "automatic", "auto"):
            policy.setdefault("automated", {})
        else:
            raise CliError(f"Invalid sync policy: {ctx.sync_policy}")
    _automated_flag(policy, flag="auto-prune", key="prune", value=ctx.auto_prune)
    _automated_flag(policy, flag="self-heal", key="selfHeal", value=ctx.self_heal)
    _automated_flag(policy, flag="allow-empty", key="allowEmpty", value=ctx.allow_empty)
    if ctx.sync_option:
        _sync_options(policy, ctx.sync_option)
    if ctx.sync_retry_limit is not None:
        if ctx.sync_retry_limit > 0:
            policy["retry"] = {
                "limit": ctx.sync_retry_limit,
                "backoff": {
                    "duration": ctx.sync_retry_backoff_duration,
                    "maxDuration": ctx.sync_retry_backoff_max_duration,
                    "factor": ctx.sync_retry_backoff_factor,
                },
            }
        else:
            policy.pop("retry", None)
    if policy:
        spec["syncPolicy"] = policy
    else:
        spec.pop("syncPolicy", None)


def _apply_source_flags(source: dict[str, Any], ctx: Context) -> None:
    if ctx.repo is not None:
        source["repoURL"] = ctx.repo
    if ctx.path is not None:
        source["path"] = ctx.path
    if ctx.revision is not None:
        source["targetRevision"] = ctx.revision
    if ctx.helm_chart is not None:
        source["chart"] = ctx.helm_chart
    if ctx.ref is not None:
        source["ref"] = ctx.ref
    helm: dict[str, Any] = dict(source.get("helm") or {})
    params: list[dict[str, Any]] = list(helm.get("parameters") or [])
    for name, value in key_values(ctx.helm_set, "--helm-set").items():
        _set_param(params, {"name": name, "value": value})
    for name, value in key_values(ctx.helm_set_string, "--helm-set-string").items():
        _set_param(params, {"name": name, "value": value, "forceString": True})
    if params:
        helm["parameters"] = params
    files: list[dict[str, Any]] = list(helm.get("fileParameters") or [])
    for name, path in key_values(ctx.helm_set_file, "--helm-set-file").items():
        _set_param(files, {"name": name, "path": path})
    if files:
        helm["fileParameters"] = files
    if ctx.values:
        helm["valueFiles"] = list(ctx.values)
    if ctx.values_literal_file is not None:
        try:
            with open(ctx.values_literal_file) as handle:
                helm["values"] = handle.read()
        except OSError as exc:
            raise CliError(str(exc)) from exc
    if ctx.release_name is not None:
        helm["releaseName"] = ctx.release_name
    if ctx.helm_namespace is not None:
        helm["namespace"] = ctx.helm_namespace
    for flag, key in (
        ("helm_skip_crds", "skipCrds"),
        ("helm_pass_credentials", "passCredentials"),
        ("ignore_missing_value_files", "ignoreMissingValueFiles"),
    ):
        toggle: bool | None = getattr(ctx.args, flag, None)
        if toggle is True:
            helm[key] = True
        elif toggle is False:
            helm.pop(key, None)
    if helm:
        source["helm"] = helm
    kustomize: dict[str, Any] = dict(source.get("kustomize") or {})
    if ctx.kustomize_image:
        images: list[str] = list(kustomize.get("images") or [])
        for image in ctx.kustomize_image:
            base = image.split("=", 1)[0].split(":", 1)[0].split("@", 1)[0]
            images = [i for i in images if i.split("=", 1)[0].split(":", 1)[0].split("@", 1)[0] != base]
            images.append(image)
        kustomize["images"] = images
    for flag, key in (
        ("kustomize_version", "version"),
        ("kustomize_namespace", "namespace"),
        ("nameprefix", "namePrefix"),
        ("namesuffix", "nameSuffix"),
    ):
        text: str | None = getattr(ctx.args, flag, None)
        if text is not None:
            kustomize[key] = text
    if ctx.kustomize_common_label:
        kustomize["commonLabels"] = {
            **(kustomize.get("commonLabels") or {}),
            **key_values(ctx.kustomize_common_label, "--kustomize-common-label"),
        }
    if ctx.kustomize_common_annotation:
        kustomize["commonAnnotations"] = {
            **(kustomize.get("commonAnnotations") or {}),
            **key_values(ctx.kustomize_common_annotation, "--kustomize-common-annotation"),
        }
    if kustomize:
        source["kustomize"] = kustomize
    directory: dict[str, Any] = dict(source.get("directory") or {})
    if ctx.directory_recurse is True:
        directory["recurse"] = True
    elif ctx.directory_recurse is False:
        directory.pop("recurse", None)
    if ctx.directory_include is not None:
        directory["include"] = ctx.directory_include
    if ctx.directory_exclude is not None:
        directory["exclude"] = ctx.directory_exclude
    if ctx.jsonnet_tla_str or ctx.jsonnet_ext_var_str:
        jsonnet: dict[str, Any] = dict(directory.get("jsonnet") or {})
        if ctx.jsonnet_tla_str:
            jsonnet["tlas"] = [
                {"name": k, "value": v} for k, v in key_values(ctx.jsonnet_tla_str, "--jsonnet-tla-str").items()
            ]
        if ctx.jsonnet_ext_var_str:
            jsonnet["extVars"] = [
                {"name": k, "value": v} for k, v in key_values(ctx.jsonnet_ext_var_str, "--jsonnet-ext-var-str").items()
            ]
        directory["jsonnet"] = jsonnet
    if directory:
        source["directory"] = directory
    plugin: dict[str, Any] = dict(source.get("plugin") or {})
    if ctx.config_management_plugin is not None:
        plugin["name"] = ctx.config_management_plugin
    if ctx.plugin_env:
        env: list[dict[str, Any]] = list(plugin.get("env") or [])
        for name, value in key_values(ctx.plugin_env, "--plugin-env").items():
            _set_param(env, {"name": name, "value": value})
        plugin["env"] = env
    if plugin:
        source["plugin"] = plugin


def add_unset_flags(p: ArgParser) -> None:
    p.add_argument("-p", "--parameter", action="append", default=None, help="Helm parameter name to remove")
    p.add_argument("--values", action="append", default=None, help="Helm values file to remove")
    add_bool(p, "--values-literal", help="remove the inline Helm values")
    add_bool(p, "--ignore-missing-value-files", help="clear ignoreMissingValueFiles")
    add_bool(p, "--pass-credentials", help="clear passCredentials")
    add_bool(p, "--nameprefix", help="remove the Kustomize name prefix")
    add_bool(p, "--namesuffix", help="remove the Kustomize name suffix")
    add_bool(p, "--kustomize-version", help="remove the Kustomize version")
    add_bool(p, "--kustomize-namespace", help="remove the Kustomize namespace")
    p.add_argument("--kustomize-image", action="append", default=None, help="Kustomize image override to remove")
    p.add_argument("--plugin-env", action="append", default=None, help="plugin environment variable to remove")
    add_bool(p, "--ref", help="remove the source's ref")
    p.add_argument("--source-position", type=int, default=0, help="1-based source to change (multi-source)")
    p.add_argument("--source-name", default=None, help="name of the source to change (multi-source)")


def apply_unset_flags(spec: dict[str, Any], ctx: Context) -> bool:
    """Removes what the flags name; answers whether anything changed."""
    before = repr(spec)
    source = _source(spec, ctx)
    helm: dict[str, Any] = source.get("helm") or {}
    if ctx.parameter:
        helm["parameters"] = [p for p in helm.get("parameters") or [] if p.get("name") not in ctx.parameter]
    if ctx.values:
        helm["valueFiles"] = [v for v in helm.get("valueFiles") or [] if v not in ctx.values]
    if ctx.values_literal:
        helm.pop("values", None)
        helm.pop("valuesObject", None)
    if ctx.ignore_missing_value_files:
        helm.pop("ignoreMissingValueFiles", None)
    if ctx.pass_credentials:
        helm.pop("passCredentials", None)
    for key in [k for k, v in helm.items() if v in ([], "", None, {})]:
        helm.pop(key)
    if "helm" in source and not helm:
        source.pop("helm")
    kustomize: dict[str, Any] = source.get("kustomize") or {}
    for flag, key in (
        ("nameprefix", "namePrefix"),
        ("namesuffix", "nameSuffix"),
        ("kustomize_version", "version"),
        ("kustomize_namespace", "namespace"),
    ):
        if getattr(ctx.args, flag):
            kustomize.pop(key, None)
    if ctx.kustomize_image:
        kustomize["images"] = [
            i for i in kustomize.get("images") or [] if not any(i.startswith(prefix) for prefix in ctx.kustomize_image)
        ]
    for key in [k for k, v in kustomize.items() if v in ([], "", None, {})]:
        kustomize.pop(key)
    if "kustomize" in source and not kustomize:
        source.pop("kustomize")
    plugin: dict[str, Any] = source.get("plugin") or {}
    if ctx.plugin_env:
        plugin["env"] = [e for e in plugin.get("env") or [] if e.get("name") not in ctx.plugin_env]
        if not plugin["env"]:
            plugin.pop("env")
    if ctx.ref:
        source.pop("ref", None)
    return repr(spec) != before
