"""``tenantwatch config init``: a commented starter pipeline file."""

from __future__ import annotations

__all__ = ["STARTER"]

STARTER = """\
# tenantwatch pipeline file. Check it with: tenantwatch config validate FILE
# Run it with: tenantwatch run --config FILE

# Where the store (tenantwatch.duckdb), findings and status go.
data_dir: ./tenantwatch-data

tenants:
  - id: contoso                 # a name you choose; sources refer to it
    tenant_id: 00000000-0000-0000-0000-000000000000   # Directory (tenant) ID
    client_id: 00000000-0000-0000-0000-000000000000   # Application (client) ID
    cloud: commercial           # commercial | gcc | gcc_high | dod
    # Secrets never go inline: read them from the environment or a file.
    client_secret: {env: TENANTWATCH_CLIENT_SECRET}
    # Or, preferred, a certificate registered on the app:
    # certificate: {key_file: /etc/tenantwatch/collector-key.pem, thumbprint: <40 hex digits>}
    publisher_id: 00000000-0000-0000-0000-000000000000  # your tenant id: a dedicated API quota

sources:
  # Entra ID sign-ins (Graph). Non-interactive, service principal and managed identity
  # sign-ins need version: beta.
  - id: signins
    type: graph_signins
    tenant: contoso
    version: beta
    event_types: [interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity]
    poll_interval_secs: 10      # Graph's budget (5 requests / 10 s / tenant) paces polls
    delay_secs: 120             # re-read the last 2 minutes each poll: Graph publishes late
    read_to_now: true           # fetch what Graph already has at once (false: wait delay_secs)
    lateness_secs: 1800         # re-read this far back now and then for late records
  # Entra ID directory changes (Graph).
  - id: directory_audits
    type: graph_directory_audits
    tenant: contoso
  # Or, for near real time, the same Entra ID logs pushed by a diagnostic setting to an event
  # hub (a shared access policy with only the Listen right; instead of the two Graph sources).
  # - id: entra_hub
  #   type: event_hub
  #   tenant: contoso
  #   connection_string: {env: TENANTWATCH_EVENT_HUB}
  #   event_hub: entra-logs   # the hub named in the setting (or EntityPath= in the string)
  #   consumer_group: tenantwatch
  # Exchange, SharePoint, OneDrive, Teams and Entra records (Management Activity API).
  - id: activity
    type: o365_management
    tenant: contoso
    content_types:
      [Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All]
    overlap_secs: 3600
    max_concurrent_blobs: 4
    freshness_threshold_secs: 14400  # a finding when a stream brings nothing new for 4 h
  # Exported files dropped into a directory (NDJSON, JSON, Event Hub captures, CSV exports).
  # - id: exports
  #   type: file
  #   path: ./exports

detections:
  - id: builtin
    type: sigma
    paths: [builtin]            # the shipped pack; add your own rule directories
    # placeholders:             # values of %name% placeholders in the rules
    #   Known_Location: [US, DE]
    # skip_unsupported: false   # true: load the rules that can be loaded, log the others

sinks:                          # each delivers from its own thread; see docs/SINKS.md
  - id: findings
    type: jsonl
    path: findings.jsonl        # relative to data_dir
  - id: console
    type: terminal
  # - id: soc                   # JSON POST signed with HMAC-SHA256 (X-Tenantwatch-Signature)
  #   type: webhook
  #   url: https://soar.example.com/hooks/tenantwatch
  #   secret: {env: TW_WEBHOOK_SECRET}
  #   max_attempts: 6           # then <data_dir>/dead-letter/soc.jsonl
  # - id: chat
  #   type: slack
  #   webhook_url: {file: /etc/tenantwatch/slack.url}   # the URL is the secret
  # - id: siem
  #   type: syslog              # RFC 5424; protocol udp | tcp | tls; format json | cef
  #   host: siem.example.com
  #   port: 6514
  #   protocol: tls
  #   format: cef
  # - id: mail
  #   type: email               # SMTP with STARTTLS
  #   host: smtp.example.com
  #   sender: tenantwatch@example.com
  #   recipients: [soc@example.com]
  #   username: tenantwatch
  #   password: {env: TW_SMTP_PASSWORD}

# access:                       # every sign-in judged against this policy (SCuBA-based default)
#   policy: access.yml          # `tenantwatch access policy > access.yml` to start from it

# metrics:                      # Prometheus: /metrics needs the token, /healthz does not
#   listen: 127.0.0.1:9464
#   token: {file: /etc/tenantwatch/metrics.token}
"""
