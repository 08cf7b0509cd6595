"""The Data Docs site's builders: GX's own, minus the work that grows with every stored result, and
with pages that load nothing from the network (``critmin.quality.offline_docs``).

A home keeps every validation of every month (~5 a month, 600 in ten years). GX's builders list
every stored result once per site section and read and deserialize every stored result to write
the index (about 1 ms each), so each validation's docs update grew with the history. These keep
GX's output (a test compares it with GX's own) and avoid both (see ``critmin.quality.validation``).

GX instantiates a site's builders by module and class name; they are made on first use, so that
importing this module does not import GX (it takes seconds).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: What the Data Docs index shows of each stored result, by result key (under ``gx_dir``).
INDEX_CACHE_NAME = "data_docs_index_cache.json"
_INDEX_CACHE_FORMAT = 1
_SUMMARY_FIELDS = frozenset({"success", "asset_name", "batch_kwargs", "batch_spec"})


def __getattr__(name: str) -> type:
    """GX instantiates the site's builders by module and class name (see ``_context``); they are
    made on first use, so that importing this module does not import GX."""
    builders = _docs_builders()
    if name in builders:
        return builders[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _docs_builders() -> dict[str, type]:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier
    from great_expectations.render.renderer import site_builder

    class OfflineSiteBuilder(site_builder.SiteBuilder):
        """GX's site builder, whose pages then load nothing from the network
        (``critmin.quality.offline_docs``) and say passed, passed with warnings or failed on a
        critical rule (``critmin.quality.docs_status``)."""

        def build(self, resource_identifiers=None, build_index: bool = True):
            from critmin.quality.docs_status import with_outcomes
            from critmin.quality.offline_docs import make_offline

            started = time.time_ns()
            built = super().build(resource_identifiers, build_index)
            results = Path(
                getattr(self.data_context.validation_results_store.store_backend, "full_base_directory", "")
            )
            make_offline(Path(self.store_backend["base_directory"]), started, also=[with_outcomes(results)])
            return built

    class IncrementalSiteSectionBuilder(site_builder.DefaultSiteSectionBuilder):
        """GX's section builder; asked for given resources (a validation and its suite), it looks
        up only those instead of listing every key of its store (every stored result)."""

        def build(self, resource_identifiers=None) -> None:
            if not resource_identifiers:
                super().build(resource_identifiers)
                return
            store = self.source_store
            wanted = [
                key for key in resource_identifiers if isinstance(key, store.key_class) and store.has_key(key)
            ]
            store.list_keys = lambda: wanted  # GX's build filters these exactly as it would all keys
            try:
                super().build(resource_identifiers)
            finally:
                del store.list_keys

    class SummaryCachingSiteIndexBuilder(site_builder.DefaultSiteIndexBuilder):
        """GX's index builder, with each stored result's index entry cached in ``summary_cache``
        instead of read and deserialized from the result at every build."""

        # GX passes a builder only the parameters its signature names: they are all spelt out.
        def __init__(  # noqa: PLR0913
            self,
            name,
            site_name,
            data_context,
            target_store,
            site_section_builders_config,
            custom_styles_directory=None,
            custom_views_directory=None,
            show_how_to_buttons=True,
            validation_results_limit=None,
            renderer=None,
            view=None,
            data_context_id=None,
            source_stores=None,
            summary_cache: str | None = None,
            **kwargs,
        ) -> None:
            super().__init__(
                name,
                site_name,
                data_context,
                target_store,
                site_section_builders_config,
                custom_styles_directory=custom_styles_directory,
                custom_views_directory=custom_views_directory,
                show_how_to_buttons=show_how_to_buttons,
                validation_results_limit=validation_results_limit,
                renderer=renderer,
                view=view,
                data_context_id=data_context_id,
                source_stores=source_stores,
                **kwargs,
            )
            self.summary_cache = Path(summary_cache) if summary_cache else None

        def _build_validation_and_profiling_result_site_keys(self, skip_and_clean_missing):
            # GX makes an identifier (parsing its run time) of every stored result and of every
            # page to match pages with results. Matching the stores' key tuples gives the same
            # pages when each has its result; otherwise GX's own matching removes the orphans.
            sections = self.site_section_builders_config
            source = next(
                (
                    sections[name].get("source_store_name")
                    for name in ("validations", "profiling")
                    if sections.get(name, "None")
                    and sections.get(name, "None") not in site_builder.FALSEY_YAML_STRINGS
                ),
                None,
            )
            if source is None:
                return super()._build_validation_and_profiling_result_site_keys(skip_and_clean_missing)
            store = self.data_context.stores[source]
            stored = set(store.store_backend.list_keys())
            pages = self.target_store.store_backends[ValidationResultIdentifier].list_keys()
            if skip_and_clean_missing and not stored.issuperset(pages):
                return super()._build_validation_and_profiling_result_site_keys(skip_and_clean_missing)
            return [ValidationResultIdentifier.from_tuple(page) for page in pages]

        def _add_validations_to_index_links(
            self, index_links_dict, validation_and_profiling_result_site_keys
        ):
            # GX 1.24's DefaultSiteIndexBuilder._add_validations_to_index_links, with the
            # result's summary taken from the cache when it is there.
            validations = self.site_section_builders_config.get("validations", "None")
            if not validations or validations in site_builder.FALSEY_YAML_STRINGS:
                return
            run_name_filter = self.site_section_builders_config["validations"]["run_name_filter"]
            keys = [
                key
                for key in validation_and_profiling_result_site_keys
                if site_builder.resource_key_passes_run_name_filter(key, run_name_filter)
            ]
            keys = sorted(keys, key=lambda x: x.run_id.run_time, reverse=True)
            if self.validation_results_limit:
                keys = keys[: self.validation_results_limit]
            cached = self._read_cache()
            kept: dict[str, dict] = {}
            for key in keys:
                name = json.dumps(list(key.to_tuple()))
                summary = cached.get(name)
                if not isinstance(summary, dict) or set(summary) != _SUMMARY_FIELDS:
                    summary = self._summary(key)
                    if summary is None:
                        continue
                kept[name] = summary
                self.add_resource_info_to_index_links_dict(
                    index_links_dict=index_links_dict,
                    expectation_suite_name=key.expectation_suite_identifier.name,
                    section_name="validations",
                    batch_identifier=key.batch_identifier,
                    run_id=key.run_id,
                    validation_success=summary["success"],
                    run_time=key.run_id.run_time,
                    run_name=key.run_id.run_name,
                    asset_name=summary["asset_name"],
                    batch_kwargs=summary["batch_kwargs"],
                    batch_spec=summary["batch_spec"],
                )
            if kept != cached:
                self._write_cache(kept)

        def _summary(self, key) -> dict | None:
            """What the index shows of one stored result (None: GX could not read it)."""
            error_msg = f"Validation result not found: {key.to_tuple()!s:s} - skipping"
            try:
                validation = self.data_context.get_validation_result(
                    batch_identifier=key.batch_identifier,
                    expectation_suite_name=key.expectation_suite_identifier.name,
                    run_id=key.run_id,
                    validation_results_store_name=self.source_stores.get("validations"),
                )
                # get_validation_result() returns {} when no result matches the key
                if not isinstance(validation, ExpectationSuiteValidationResult):
                    site_builder.logger.warning(error_msg)
                    return None
                summary = {
                    "success": validation.success,
                    "asset_name": site_builder._resolve_asset_name(validation),
                    "batch_kwargs": validation.meta.get("batch_kwargs", {}),
                    "batch_spec": validation.meta.get("batch_spec", {}),
                }
            except Exception:
                site_builder.logger.warning(error_msg)
                return None
            try:  # cached only if it comes back from JSON as it is
                if json.loads(json.dumps(summary)) == summary:
                    return summary
            except (TypeError, ValueError):
                pass
            return {**summary, "uncacheable": True}

        def _read_cache(self) -> dict[str, dict]:
            if self.summary_cache is None:
                return {}
            try:
                content = json.loads(self.summary_cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            if not isinstance(content, dict) or content.get("format") != _INDEX_CACHE_FORMAT:
                return {}
            results = content.get("results")
            return results if isinstance(results, dict) else {}

        def _write_cache(self, summaries: dict[str, dict]) -> None:
            if self.summary_cache is None:
                return
            content = {
                "format": _INDEX_CACHE_FORMAT,
                "about": "What the Data Docs index shows of each stored validation result (a cache).",
                "results": {name: s for name, s in summaries.items() if not s.get("uncacheable")},
            }
            partial = self.summary_cache.with_name(f".{self.summary_cache.name}.{os.getpid()}.tmp")
            try:
                partial.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
                os.replace(partial, self.summary_cache)
            except OSError as error:  # a cache: the index is written all the same
                log.debug("could not write %s: %s", self.summary_cache, error)
                partial.unlink(missing_ok=True)

    return {
        "OfflineSiteBuilder": OfflineSiteBuilder,
        "IncrementalSiteSectionBuilder": IncrementalSiteSectionBuilder,
        "SummaryCachingSiteIndexBuilder": SummaryCachingSiteIndexBuilder,
    }
