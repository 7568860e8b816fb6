"""The drift-detection orchestrator: one run over many Terraform workspaces.

The Lambda entrypoint is ``orchestrator.handler`` (one folder up). This package
holds the plain, client-injected functions it calls:

- :mod:`.config`: the function's environment, validated once per invocation.
- :mod:`.inventory`: the workspace inventory (S3 object or ``WORKSPACES_JSON``).
- :mod:`.events`: scheduled and manual events, the run id, filters.
- :mod:`.fanout`: one worker invocation per workspace, bounded concurrency,
  retries with backoff and full jitter, and the deadline budget.
- :mod:`.summary`: the run summary document (``schemas/run-summary.v1.json``).
- :mod:`.alerts`: the aggregated SNS messages.
- :mod:`.run`: the whole run, from event to summary.
- :mod:`.finish`: the summarize step, from the map's results to the summary.
- :mod:`.unmanaged`: the unmanaged-resource comparison (pure).
- :mod:`.cloud_inventory`: what exists in the run's accounts and regions.
"""
