# The drift-detection CloudWatch dashboard: the worker's drift metrics, one
# line per environment; the runs' counts (the summarize step's metrics); the
# worker's duration; errors and throttles of every function; the latest
# critical drift from the worker's log group; then the runs themselves: how
# long they take, workspaces checked and skipped, throttled retries, and the
# state machine's executions; last, what nobody manages (unmanaged
# resources, resources managed twice or gone from the inventory, and the
# inventory's errors); with event-driven checks, the trigger's counts and
# the detection latency.

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "drift-detection-dashboard-${var.environment_suffix}"

  dashboard_body = jsonencode({
    widgets = concat(
      # Worker metrics (dimensions Environment, Workspace), one line per
      # environment: the sum over that environment's workspaces.
      [
        for i, m in var.drift_metrics : {
          type   = "metric"
          x      = (i % 2) * 12
          y      = floor(i / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = m.title
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            yAxis   = { left = { min = 0 } }
            metrics = [
              for j, env in var.environments : [{
                id         = "e${j}"
                label      = env
                expression = "SUM(SEARCH('{${var.metrics_namespace},Environment,Workspace} MetricName=\"${m.metric}\" Environment=\"${env}\"', 'Maximum', 3600))"
              }]
            ]
          }
        }
      ],
      [
        {
          type   = "metric"
          x      = 0
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Runs"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            metrics = [
              [var.metrics_namespace, "WorkspacesChecked", "service", var.run_metrics_service_name, { label = "Workspaces checked" }],
              [var.metrics_namespace, "WorkspacesDrifted", "service", var.run_metrics_service_name, { label = "Workspaces drifted" }],
              [var.metrics_namespace, "CriticalDrift", "service", var.run_metrics_service_name, { label = "Critical drift" }],
              [var.metrics_namespace, "DetectionErrors", "service", var.run_metrics_service_name, { label = "Detection errors" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 8
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Worker duration (ms)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            metrics = [
              for s in [["p50", "p50"], ["p90", "p90"], ["Maximum", "max"]] :
              ["AWS/Lambda", "Duration", "FunctionName", var.worker_function_name, { stat = s[0], label = s[1] }]
            ]
          }
        },
        {
          type   = "metric"
          x      = 16
          y      = 12
          width  = 8
          height = 6
          properties = {
            title   = "Lambda errors and throttles"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 300
            stat    = "Sum"
            # Two rows a function, in the order given.
            metrics = concat([
              for f in var.functions : [
                ["AWS/Lambda", "Errors", "FunctionName", f.function_name, { label = "${f.label} errors" }],
                ["AWS/Lambda", "Throttles", "FunctionName", f.function_name, { label = "${f.label} throttles" }],
              ]
            ]...)
          }
        },
        {
          type   = "log"
          x      = 0
          y      = 18
          width  = 24
          height = 8
          properties = {
            title  = "Latest critical drift"
            region = var.region
            view   = "table"
            query  = "SOURCE '${var.worker_log_group_name}' | fields @timestamp, environment, workspace, address, rule, report_key | filter event = \"critical_drift\" | sort @timestamp desc | limit 50"
          }
        },
      ],
      # The runs: the summarize step's metrics (dimension service) and the
      # state machine's own.
      [
        {
          type   = "metric"
          x      = 0
          y      = 26
          width  = 8
          height = 6
          properties = {
            title   = "Run duration (s)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Maximum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "RunDurationSeconds", "service", var.run_metrics_service_name, { label = "Run duration" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 8
          y      = 26
          width  = 8
          height = 6
          properties = {
            title   = "Workspaces checked"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "WorkspacesChecked", "service", var.run_metrics_service_name, { label = "Workspaces checked" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 16
          y      = 26
          width  = 8
          height = 6
          properties = {
            title   = "Workspaces skipped (must be 0)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "WorkspacesSkipped", "service", var.run_metrics_service_name, { label = "Workspaces skipped" }],
            ]
            annotations = {
              horizontal = [
                { label = "Any skipped workspace is a fault: must be 0", value = 1, fill = "above", color = "#d62728" },
              ]
            }
          }
        },
        {
          type   = "metric"
          x      = 0
          y      = 32
          width  = 12
          height = 6
          properties = {
            title   = "Throttled retries"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "ThrottleRetries", "service", var.run_metrics_service_name, { label = "Throttled retries" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 32
          width  = 12
          height = 6
          properties = {
            title   = "Run executions"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              for m in [["ExecutionsStarted", "started"], ["ExecutionsSucceeded", "succeeded"], ["ExecutionsFailed", "failed"], ["ExecutionsTimedOut", "timed out"]] :
              ["AWS/States", m[0], "StateMachineArn", var.state_machine_arn, { label = m[1] }]
            ]
          }
        },
      ],
      # What nobody manages: the summarize step's counts from comparing the
      # run's states with the inventory, and the inventory's own errors.
      [
        {
          type   = "metric"
          x      = 0
          y      = 38
          width  = 16
          height = 6
          properties = {
            title   = "What nobody manages"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Maximum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "UnmanagedResources", "service", var.run_metrics_service_name, { label = "Unmanaged resources" }],
              [var.metrics_namespace, "ManagedTwice", "service", var.run_metrics_service_name, { label = "Managed twice" }],
              [var.metrics_namespace, "GoneFromInventory", "service", var.run_metrics_service_name, { label = "Gone from the inventory" }],
            ]
          }
        },
        {
          type   = "metric"
          x      = 16
          y      = 38
          width  = 8
          height = 6
          properties = {
            title   = "Inventory errors (must be 0)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            yAxis   = { left = { min = 0 } }
            metrics = [
              [var.metrics_namespace, "InventoryErrors", "service", var.run_metrics_service_name, { label = "Inventory errors" }],
            ]
            annotations = {
              horizontal = [
                { label = "An inventory error leaves part of the cloud unlisted: must be 0", value = 1, fill = "above", color = "#d62728" },
              ]
            }
          }
        },
      ],
      # Event-driven checks: what the trigger did with the change events
      # (dimension service), and how long a change took to reach its report
      # (the worker's DetectionLatencySeconds, dimensionless aggregate).
      [
        for w in [
          {
            type   = "metric"
            x      = 0
            y      = 44
            width  = 12
            height = 6
            properties = {
              title   = "Event-driven checks"
              region  = var.region
              view    = "timeSeries"
              stacked = false
              period  = 300
              stat    = "Sum"
              yAxis   = { left = { min = 0 } }
              metrics = [
                for m in [["EventsReceived", "received"], ["EventsIgnored", "ignored"], ["EventsMatched", "matched"], ["EventsUnmatched", "unmatched"], ["EventsDebounced", "debounced"], ["ChecksStarted", "checks started"]] :
                [var.metrics_namespace, m[0], "service", var.trigger_service_name, { label = m[1] }]
              ]
            }
          },
          {
            type   = "metric"
            x      = 12
            y      = 44
            width  = 12
            height = 6
            properties = {
              title   = "Detection latency (s)"
              region  = var.region
              view    = "timeSeries"
              stacked = false
              period  = 300
              yAxis   = { left = { min = 0 } }
              metrics = [
                for s in [["p50", "p50"], ["p90", "p90"], ["Maximum", "max"]] :
                [var.metrics_namespace, "DetectionLatencySeconds", { stat = s[0], label = s[1] }]
              ]
            }
          },
        ] : w if var.event_checks_enabled
      ],
    )
  })
}
