locals {
  repo_root = abspath("${path.module}/..")

  # Exactly what the function needs at run time. The snapshot exists when `make snapshot`
  # wrote it before apply; without it, fileset() matches nothing and the zip has no snapshot.
  source_patterns = ["main.py", "requirements.txt", "bot/**/*.py", "bot/ip_ranges_snapshot.json"]
  source_files    = sort(distinct(flatten([for pattern in local.source_patterns : tolist(fileset(local.repo_root, pattern))])))

  # thread_updates = false, from before thread_mode, still means off.
  thread_mode = coalesce(var.thread_mode, var.thread_updates == false ? "off" : "reply")

  # Every variable the code needs in production. The rest (ATLASSIAN_IP_RANGES_URL,
  # IP_RANGES_TTL_SECONDS, IP_RANGES_SNAPSHOT, EXTRA_ALLOWED_CIDRS) have production defaults.
  environment = {
    STATUSPAGE_PAGE_ID     = var.statuspage_page_id
    GOOGLE_CLOUD_PROJECT   = var.project_id
    SECRET_PREFIX          = var.secret_prefix
    TRUSTED_PROXY_HOPS     = tostring(var.trusted_proxy_hops)
    DRY_RUN                = tostring(var.dry_run)
    POST_COMPONENT_UPDATES = tostring(var.post_component_updates)
    STATE_BUCKET           = google_storage_bucket.state.name
    THREAD_MODE            = local.thread_mode
    THREAD_RETRY_HOURS     = tostring(var.thread_retry_hours)
    LINK_IN                = var.link_in
    X_POST_PRICE_USD       = tostring(var.x_post_price_usd)
    X_LINK_POST_PRICE_USD  = tostring(var.x_link_post_price_usd)
    SWEEP_MAX_POSTS        = tostring(var.sweep_max_posts)
    SWEEP_GRACE_SECONDS    = tostring(var.sweep_grace_seconds)
    DESTINATIONS           = join(",", var.destinations)
    BLUESKY_SERVICE        = var.bluesky_service
    MASTODON_VISIBILITY    = var.mastodon_visibility
    LOG_EXECUTION_ID       = "true"
    # functions-framework's gunicorn threads: one per request the instance is sent at once.
    THREADS = tostring(var.max_instance_request_concurrency)
  }
  # Set only when given: an empty value would mean "off" to some and "invalid" to others.
  optional_environment = {
    WEBHOOK_TOKEN_SECRET = var.webhook_token_enabled ? local.token_secret_id : ""
    STATUSPAGE_URL       = var.statuspage_url
    TWEET_TEMPLATE       = var.tweet_template
    SENTRY_DSN           = var.sentry_dsn
    SWEEP_SINCE          = var.sweep_since
    BLUESKY_HANDLE       = var.bluesky_handle
    MASTODON_BASE_URL    = var.mastodon_base_url
  }
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/build/function-source.zip"

  dynamic "source" {
    for_each = local.source_files
    content {
      content  = file("${local.repo_root}/${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket that only Terraform and Cloud Build read add nothing.
  #checkov:skip=CKV_GCP_78:Objects are named by their content hash and never overwritten, so versions add nothing.
  name                        = local.source_bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  depends_on                  = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  # The hash in the name makes a code change a new object, and so a redeploy.
  name   = "function-source-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "webhook" {
  #checkov:skip=CKV_GCP_124:Ingress ALLOW_ALL: Statuspage calls from Atlassian's public addresses; the code admits only those.
  name        = var.function_name
  location    = var.region
  description = "Relays Atlassian Statuspage incident updates to X."

  build_config {
    runtime = "python313"
    # Its own build identity (iam.tf), not the project's default build account.
    service_account = google_service_account.build.id
    entry_point     = "handle_webhook"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory   = var.memory
    available_cpu      = var.available_cpu
    timeout_seconds    = 60 # Statuspage waits 30 s; the code answers within 20 s.
    min_instance_count = 0
    max_instance_count = var.max_instances
    # Several requests per instance: a flood of rejected junk does not crowd out Statuspage.
    max_instance_request_concurrency = var.max_instance_request_concurrency
    service_account_email            = google_service_account.function.email
    # Statuspage calls from the internet; the code checks its source address and token.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables          = merge(local.environment, { for k, v in local.optional_environment : k => v if v != "" })
  }

  lifecycle {
    precondition {
      condition     = !contains(var.destinations, "bluesky") || var.bluesky_handle != ""
      error_message = "destinations has bluesky: set bluesky_handle to the posting account's handle."
    }
    precondition {
      condition     = !contains(var.destinations, "mastodon") || var.mastodon_base_url != ""
      error_message = "destinations has mastodon: set mastodon_base_url to the instance, e.g. https://mastodon.social."
    }
    precondition {
      condition     = var.thread_updates == null || var.thread_mode == null || var.thread_updates == (coalesce(var.thread_mode, "reply") != "off")
      error_message = "thread_updates contradicts thread_mode: remove thread_updates (thread_mode replaces it; thread_mode = \"off\" is thread_updates = false)."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.function,
    google_project_iam_member.function_logs,
    google_storage_bucket_iam_member.function_state,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_source,
  ]
}

# The only public binding. Statuspage cannot authenticate to Google, so anyone may invoke
# the function; the code then admits only Atlassian's Statuspage addresses (and the token).
resource "google_cloud_run_service_iam_member" "public_invoker" {
  #checkov:skip=CKV_GCP_102:Statuspage webhooks are unauthenticated; the function checks source IP, page id and token itself.
  location = google_cloudfunctions2_function.webhook.location
  service  = google_cloudfunctions2_function.webhook.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
