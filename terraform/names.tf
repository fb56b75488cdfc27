# Every name derived from project_id and function_name, made to fit its limit whatever they
# are (the variables admit a 30-character project id and a 50-character function name). A
# name that fits as it always was is kept, so an existing deployment keeps its resources; a
# longer one keeps its start and gains a hash of the whole, so that two never collide.
# tests/test_terraform.py evaluates these with `terraform console` over edge cases.
locals {
  bucket_base = "${var.project_id}-${var.function_name}"
  # Bucket names: 3-63 characters, starting and ending with a letter or digit.
  state_bucket_name = (length("${local.bucket_base}-state") <= 63
    ? "${local.bucket_base}-state"
    : "${substr(local.bucket_base, 0, 45)}-${substr(sha256(local.bucket_base), 0, 8)}-state"
  )
  source_bucket_name = (length("${local.bucket_base}-source") <= 63
    ? "${local.bucket_base}-source"
    : "${substr(local.bucket_base, 0, 45)}-${substr(sha256(local.bucket_base), 0, 8)}-source"
  )
  # Service account ids: 6-30 characters, a letter first, a letter or digit last.
  function_account_id = (length(var.function_name) >= 3 && length(var.function_name) <= 27
    ? "${var.function_name}-fn"
    : "fn-${substr(var.function_name, 0, 18)}-${substr(sha256(var.function_name), 0, 8)}"
  )
  build_account_id = (length(var.function_name) >= 3 && length(var.function_name) <= 24
    ? "${var.function_name}-build"
    : "build-${substr(var.function_name, 0, 15)}-${substr(sha256(var.function_name), 0, 8)}"
  )
  scheduler_account_id = (length(var.function_name) <= 24
    ? "sched-${var.function_name}"
    : "sched-${substr(var.function_name, 0, 15)}-${substr(sha256(var.function_name), 0, 8)}"
  )
  # Cloud Functions names: at most 63 characters (function_name is at most 50).
  sweep_name = "${var.function_name}-sweep"
}
