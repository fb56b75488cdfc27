# Someone must learn of every failure (README, Alerts). Each log-based metric counts one kind
# of line of either function; each alert policy e-mails alert_email when its metric exceeds
# its threshold, and its documentation says what to check first.
locals {
  our_services = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(\"${var.function_name}\" OR \"${local.sweep_name}\")"
  alerts = {
    undelivered = {
      metric      = "undelivered_updates"
      title       = "incident updates not tweeted"
      filter      = "jsonPayload.result=(\"failed\" OR \"unknown\" OR \"rate_limited\" OR \"missed_by_webhook\")"
      threshold   = 0
      period      = "300s"
      description = "Updates not known to be posted (result failed, unknown or rate_limited), and updates no webhook brought (missed_by_webhook)."
      check_first = "An incident update was not posted to X, or may not have been (unknown), or reached the relay only through the sweep (missed_by_webhook: check the webhook subscriber in Statuspage, it may be quarantined). Filter the logs on `jsonPayload.result=(\"failed\" OR \"unknown\" OR \"rate_limited\" OR \"missed_by_webhook\")` and follow the line's advice (docs/operations.md). For unknown, look at the account first: the tweet may be there."
    }
    errors = {
      metric      = "error_lines"
      title       = "errors logged"
      filter      = "severity>=ERROR"
      threshold   = 0
      period      = "300s"
      description = "Every log line at ERROR or above: failed posts, unexpected errors, a failed ledger write, a start-up configuration error, a crash."
      check_first = "A function logged an error. Filter the logs on `severity>=ERROR`; each of our lines says what happened and what to do (docs/operations.md). A traceback is a bug: report it. `Configuration error` names the variable to fix."
    }
    rejected = {
      metric      = "rejected_requests"
      title       = "requests rejected (403)"
      filter      = "jsonPayload.rejected=true"
      threshold   = 4
      period      = "900s"
      description = "Requests the webhook answered 403: not from Statuspage's addresses, or a wrong ?token=."
      check_first = "Five or more 403s in 15 minutes. If `source_ip` is Atlassian's, Statuspage's own deliveries are being refused and its webhook will be quarantined: check the webhook URL's ?token= against the secret, and TRUSTED_PROXY_HOPS. Otherwise it is someone probing the public URL: nothing to do."
    }
    startup = {
      metric      = "startup_failures"
      title       = "function fails to start"
      filter      = "log_id(\"run.googleapis.com/varlog/system\") AND severity>=WARNING AND textPayload:(\"exit(\" OR \"STARTUP\")"
      threshold   = 0
      period      = "300s"
      description = "Cloud Run's own lines when an instance's container exits or fails its start-up probe."
      check_first = "An instance could not start, so deliveries get errors and Statuspage may quarantine the webhook. Read the ERROR line just before it: `Configuration error` names the variable to fix; anything else is a bug or a bad deploy: roll back (README, Day to day)."
    }
  }
}

resource "google_logging_metric" "alert" {
  for_each    = local.alerts
  name        = "${var.function_name}/${each.value.metric}"
  description = each.value.description
  filter      = "${local.our_services} AND ${each.value.filter}"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
  depends_on = [google_project_service.enabled]
}

moved {
  from = google_logging_metric.undelivered
  to   = google_logging_metric.alert["undelivered"]
}

# A policy on a log-based metric created moments before can fail with 404 until the metric has
# propagated (hashicorp/terraform-provider-google#11102): wait once, whenever a metric is new.
resource "time_sleep" "metrics_propagate" {
  create_duration = "120s"
  triggers        = { metrics = join(",", sort([for m in google_logging_metric.alert : m.id])) }
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "${var.function_name} alerts"
  type         = "email"
  labels       = { email_address = var.alert_email }
  depends_on   = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "alert" {
  for_each              = var.alert_email == "" ? {} : local.alerts
  display_name          = "${var.function_name}: ${each.value.title}"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.email[0].id]

  conditions {
    display_name = each.value.title
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.alert[each.key].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period   = each.value.period
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = each.value.check_first
  }

  depends_on = [google_project_service.enabled, time_sleep.metrics_propagate]
}

moved {
  from = google_monitoring_alert_policy.undelivered[0]
  to   = google_monitoring_alert_policy.alert["undelivered"]
}

# Cloud Run's request logs keep the full URL, ?token= included: leave them out, so the token is
# stored nowhere. Our own summary line of each request stays.
resource "google_logging_project_exclusion" "request_logs" {
  count       = coalesce(var.exclude_request_logs, var.webhook_token_enabled) ? 1 : 0
  name        = "${replace(var.function_name, "-", "_")}_request_logs"
  description = "Cloud Run request logs of ${var.function_name}: their URL holds the webhook's ?token=."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.function_name}\" AND log_id(\"run.googleapis.com/requests\")"
  depends_on  = [google_project_service.enabled]
}
