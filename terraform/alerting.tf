# Someone must learn that tweets stopped going out: count the log lines whose result is
# failed, unknown (the tweet may or may not exist) or rate_limited, summary, catch-up and
# sweep lines alike, and missed_by_webhook (the sweep found an update no webhook brought: the
# webhook may be quarantined), and e-mail alert_email when any appear.
resource "google_logging_metric" "undelivered" {
  name        = "${var.function_name}/undelivered_updates"
  description = "Updates not known to be posted (result failed, unknown or rate_limited), and updates no webhook brought (missed_by_webhook)."
  filter      = <<-EOT
    resource.type="cloud_run_revision"
    resource.labels.service_name=("${var.function_name}" OR "${local.sweep_name}")
    jsonPayload.result=("failed" OR "unknown" OR "rate_limited" OR "missed_by_webhook")
  EOT

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "result"
      value_type  = "STRING"
      description = "failed, unknown, rate_limited or missed_by_webhook"
    }
  }
  label_extractors = {
    result = "EXTRACT(jsonPayload.result)"
  }
  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "${var.function_name} alerts"
  type         = "email"
  labels       = { email_address = var.alert_email }
}

resource "google_monitoring_alert_policy" "undelivered" {
  count                 = var.alert_email == "" ? 0 : 1
  display_name          = "${var.function_name}: incident updates not tweeted"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.email[0].id]

  conditions {
    display_name = "failed, unknown, rate_limited or missed_by_webhook results"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.undelivered.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "An incident update was not posted to X, or may not have been (unknown), or reached the relay only through the sweep (missed_by_webhook: check the webhook subscriber in Statuspage, it may be quarantined). Open the functions' logs, filter on `jsonPayload.result=(\"failed\" OR \"unknown\" OR \"rate_limited\" OR \"missed_by_webhook\")`, and follow the ERROR line's advice (README, Operations). For unknown, look at the account first: the tweet may be there. Post the update by hand if it matters."
  }
}
