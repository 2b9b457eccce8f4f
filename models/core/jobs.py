"""Every arq job by the name the worker registers it under: the domain and the doors enqueue
these, never a bare string (tests/system/test_worker.py checks both lists agree)."""

from __future__ import annotations

from enum import StrEnum


class Job(StrEnum):
    # enqueued
    announce_account_update = "announce_account_update"
    build_data_export = "build_data_export"
    compose_media = "compose_media"
    dispatch_notifications = "dispatch_notifications"
    email_notifications = "email_notifications"
    fan_out_notification = "fan_out_notification"
    purge_dm_attachment = "purge_dm_attachment"
    purge_dm_attachment_files = "purge_dm_attachment_files"
    push_unread_badge = "push_unread_badge"
    refresh_title_search = "refresh_title_search"
    refresh_title_summaries = "refresh_title_summaries"
    send_email = "send_email"
    send_password_reset = "send_password_reset"
    transcode_media = "transcode_media"
    # on a schedule (cron)
    cleanup = "cleanup"
    purge_deleted_accounts = "purge_deleted_accounts"
    compute_similar_titles = "compute_similar_titles"
    notify_new_releases = "notify_new_releases"
    prune_orphaned_media = "prune_orphaned_media"
    prune_dm_attachments = "prune_dm_attachments"
    reconcile_parties = "reconcile_parties"
    reconcile_ratings = "reconcile_ratings"
    suggest_media_segments = "suggest_media_segments"
    redeliver_notifications = "redeliver_notifications"
    refresh_computed_collections = "refresh_computed_collections"
