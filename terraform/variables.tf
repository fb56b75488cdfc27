variable "project_id" {
  type        = string
  description = "Google Cloud project that hosts the function, its secrets and its buckets."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id: 6 to 30 lowercase letters, digits and '-', starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = "us-west1"
  description = "Region of the function and its buckets."
}

variable "statuspage_page_id" {
  type        = string
  description = "Statuspage page id (manage.statuspage.io/pages/<PAGE_ID>/...); webhooks of other pages are ignored."

  validation {
    condition     = length(trimspace(var.statuspage_page_id)) > 0
    error_message = "statuspage_page_id must not be empty: the function refuses to start without it."
  }
}

variable "secret_prefix" {
  type        = string
  default     = "getsentryhelp_twitter_"
  description = "Prefix of the Secret Manager secrets: <prefix>consumer_key, <prefix>consumer_secret, <prefix>access_token, <prefix>access_token_secret."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]*$", var.secret_prefix))
    error_message = "secret_prefix may hold only letters, digits, '_' and '-', as secret ids do."
  }
}

variable "function_name" {
  type        = string
  default     = "incident-twitter-bot"
  description = "Name of the Cloud Function (and of its Cloud Run service)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.function_name))
    error_message = "function_name must be lowercase letters, digits and '-', 2 to 50 characters, starting with a letter."
  }
}

variable "max_instances" {
  type        = number
  default     = 3
  description = "Upper bound on instances. X bills per post, so a runaway fleet costs money; Statuspage sends a handful of webhooks an hour."

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100
    error_message = "max_instances must be between 1 and 100."
  }
}

variable "memory" {
  type        = string
  default     = "256Mi"
  description = "Memory of each instance, e.g. 256Mi, 512Mi."
}

variable "available_cpu" {
  type        = string
  default     = "1"
  description = "vCPUs of each instance. Serving more than one request at a time needs at least 1; a whole vCPU also formats and checks each request faster than the sixth of one that 256Mi gets by default."

  validation {
    condition     = can(tonumber(var.available_cpu)) && try(tonumber(var.available_cpu) >= 1, false)
    error_message = "available_cpu must be a number of vCPUs of at least 1, e.g. \"1\" or \"2\": max_instance_request_concurrency above 1 needs it."
  }
}

variable "max_instance_request_concurrency" {
  type        = number
  default     = 16
  description = "Requests one instance serves at once (functions-framework runs as many threads). Junk from the internet is refused in about a millisecond each, so one instance absorbs a flood while Statuspage's own deliveries still get through (CONTRIBUTING.md, Benchmarks)."

  validation {
    condition     = var.max_instance_request_concurrency >= 1 && var.max_instance_request_concurrency <= 80
    error_message = "max_instance_request_concurrency must be between 1 and 80."
  }
}

variable "trusted_proxy_hops" {
  type        = number
  default     = 1
  description = "Which X-Forwarded-For entry from the right is the caller: 1 when Statuspage calls the function's URL directly, 2 behind an external HTTPS load balancer."

  validation {
    condition     = var.trusted_proxy_hops >= 1
    error_message = "trusted_proxy_hops must be at least 1."
  }
}

variable "webhook_token_enabled" {
  type        = bool
  default     = true
  description = "Require a ?token= query parameter equal to the <prefix>statuspage_webhook_token secret."
}

variable "alert_email" {
  type        = string
  default     = ""
  description = "E-mail told when tweets fail or are rate limited. Empty: no alert policy."
}

variable "dry_run" {
  type        = bool
  default     = false
  description = "Do everything but post; answers carry the tweet text. For a first deploy or a staging copy."
}

variable "thread_mode" {
  type        = string
  default     = null
  description = "How an incident's later tweets follow its previous one: reply (the default), quote, or off (each stands alone). X may refuse replies from self-serve apps; a refused reply or quote is posted standalone at once (docs/design.md, Threads)."

  validation {
    condition     = var.thread_mode == null || contains(["reply", "quote", "off"], coalesce(var.thread_mode, "reply"))
    error_message = "thread_mode must be reply, quote or off."
  }
}

variable "thread_updates" {
  type        = bool
  default     = null
  description = "Deprecated: use thread_mode. false is thread_mode = \"off\"; true is reply or quote."
}

variable "thread_retry_hours" {
  type        = number
  default     = 24
  description = "After X refuses a reply or quote, tweets go out standalone this many hours before a reply or quote is tried again."

  validation {
    condition     = var.thread_retry_hours >= 1 && floor(var.thread_retry_hours) == var.thread_retry_hours
    error_message = "thread_retry_hours must be a whole number of hours, at least 1."
  }
}

variable "link_in" {
  type        = string
  default     = "every"
  description = "Which tweets carry the incident's link: every (the default) or first, the first of the incident's thread only. X bills a post with a link about $0.20 against $0.015 (docs/design.md, Links and costs)."

  validation {
    condition     = contains(["every", "first"], var.link_in)
    error_message = "link_in must be every or first."
  }
}

variable "x_post_price_usd" {
  type        = number
  default     = 0.015
  description = "X's price of a post without a link, in US dollars: only for the cost_usd estimate in logs and answers."

  validation {
    condition     = var.x_post_price_usd >= 0 && var.x_post_price_usd < 100
    error_message = "x_post_price_usd must be from 0 to 100 (US dollars)."
  }
}

variable "x_link_post_price_usd" {
  type        = number
  default     = 0.2
  description = "X's price of a post that carries a link, in US dollars: only for the cost_usd estimate in logs and answers."

  validation {
    condition     = var.x_link_post_price_usd >= 0 && var.x_link_post_price_usd < 100
    error_message = "x_link_post_price_usd must be from 0 to 100 (US dollars)."
  }
}

variable "post_component_updates" {
  type        = bool
  default     = false
  description = "Also tweet component status changes; needs statuspage_url."
}

variable "statuspage_url" {
  type        = string
  default     = ""
  description = "Public URL of the status page, the link in component tweets."
}

variable "tweet_template" {
  type        = string
  default     = ""
  description = "Optional tweet format with {status}, {name}, {body} and {url}. Empty: '[status] {status}: {body} {url}'."
}

variable "sentry_dsn" {
  type        = string
  default     = ""
  description = "Optional Sentry DSN for error reports. A DSN only allows sending events, so it is configuration, not a secret."
}

variable "sweep_enabled" {
  type        = bool
  default     = true
  description = "Deploy the sweep: a private function that Cloud Scheduler runs every sweep_schedule, which posts the updates no webhook brought and alerts when the webhook misses one (docs/design.md, Two paths). Needs statuspage_url."
}

variable "sweep_schedule" {
  type        = string
  default     = "*/5 * * * *"
  description = "When the sweep runs: a cron schedule of five fields, in UTC."

  validation {
    condition     = length(regexall("^\\S+( \\S+){4}$", trimspace(var.sweep_schedule))) == 1
    error_message = "sweep_schedule must be a cron schedule of five fields, e.g. \"*/5 * * * *\"."
  }
}

variable "sweep_max_posts" {
  type        = number
  default     = 10
  description = "At most this many posts per sweep run, which bounds what a run can spend if something is wrong."

  validation {
    condition     = var.sweep_max_posts >= 1 && var.sweep_max_posts <= 100 && floor(var.sweep_max_posts) == var.sweep_max_posts
    error_message = "sweep_max_posts must be a whole number from 1 to 100."
  }
}

variable "sweep_grace_seconds" {
  type        = number
  default     = 120
  description = "The sweep leaves updates younger than this to the webhook."

  validation {
    condition     = var.sweep_grace_seconds >= 0 && var.sweep_grace_seconds <= 3600 && floor(var.sweep_grace_seconds) == var.sweep_grace_seconds
    error_message = "sweep_grace_seconds must be a whole number of seconds from 0 to 3600."
  }
}

variable "sweep_since" {
  type        = string
  default     = ""
  description = "Optional RFC 3339 time, e.g. 2026-11-01T00:00:00Z: the sweep posts updates published since then (a deliberate backfill). Empty: since its first run."

  validation {
    condition     = var.sweep_since == "" || can(formatdate("YYYY", var.sweep_since))
    error_message = "sweep_since must be empty or an RFC 3339 time such as 2026-11-01T00:00:00Z."
  }
}

variable "ledger_force_destroy" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete the ledger bucket with its records. Off, a destroy stops at a bucket that holds records (README, Day to day)."
}

variable "exclude_request_logs" {
  type        = bool
  default     = null
  description = "Keep Cloud Run's own request logs of the webhook out of Cloud Logging: they hold the full URL, ?token= included. Default: on while webhook_token_enabled. Costs Cloud Run's per-request latency lines; the function's own summary line stays."
}

variable "destinations" {
  type        = list(string)
  default     = ["x"]
  description = "Where each update is posted: any of x, bluesky and mastodon. Each needs its credentials as secrets (README, the checklist); bluesky needs bluesky_handle, mastodon needs mastodon_base_url."

  validation {
    condition     = length(var.destinations) > 0 && alltrue([for d in var.destinations : contains(["x", "bluesky", "mastodon"], d)])
    error_message = "destinations must list one or more of x, bluesky and mastodon."
  }
}

variable "bluesky_handle" {
  type        = string
  default     = ""
  description = "The Bluesky account that posts, e.g. status.example.com; needed when destinations has bluesky."
}

variable "bluesky_service" {
  type        = string
  default     = "https://bsky.social"
  description = "The Bluesky account's PDS."

  validation {
    condition     = can(regex("^https?://", var.bluesky_service))
    error_message = "bluesky_service must be an http(s) URL."
  }
}

variable "mastodon_base_url" {
  type        = string
  default     = ""
  description = "The Mastodon instance, e.g. https://mastodon.social; needed when destinations has mastodon."

  validation {
    condition     = var.mastodon_base_url == "" || can(regex("^https?://", var.mastodon_base_url))
    error_message = "mastodon_base_url must be empty or an http(s) URL."
  }
}

variable "mastodon_visibility" {
  type        = string
  default     = "public"
  description = "The visibility of Mastodon posts: public, unlisted, private or direct."

  validation {
    condition     = contains(["public", "unlisted", "private", "direct"], var.mastodon_visibility)
    error_message = "mastodon_visibility must be public, unlisted, private or direct."
  }
}
