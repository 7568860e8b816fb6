# The drift-detection CloudWatch dashboard: the worker's drift metrics, one
# line per environment; the orchestrator's run counts; the worker's
# duration; errors and throttles of every function; the latest critical
# drift from the worker's log group.

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
            title   = "Orchestrator runs"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            period  = 3600
            stat    = "Sum"
            metrics = [
              [var.metrics_namespace, "WorkspacesChecked", "service", var.orchestrator_service_name, { label = "Workspaces checked" }],
              [var.metrics_namespace, "WorkspacesDrifted", "service", var.orchestrator_service_name, { label = "Workspaces drifted" }],
              [var.metrics_namespace, "CriticalDrift", "service", var.orchestrator_service_name, { label = "Critical drift" }],
              [var.metrics_namespace, "DetectionErrors", "service", var.orchestrator_service_name, { label = "Detection errors" }],
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
    )
  })
}
