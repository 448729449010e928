-- Prosody 0.12 for the MUC/PEP fan-out benchmark (bench/fanout/prosody.sh
-- fills in /tmp/arch2/pros-on and 45423). Loopback only, c2s STARTTLS only.
-- Lifted for the benchmark: nothing to lift in 0.12's MUC (no occupant cap,
-- no per-occupant rate limit in the core muc module; mod_limits, the c2s
-- read shaper, is not loaded), room history on join 0 (as a client asking
-- maxstanzas=0 would), in-band registration from loopback (whitelisted by
-- mod_register_limits' default), Nagle off, listen backlog 1024.

run_as_root = true
daemonize = false
pidfile = "/tmp/arch2/pros-on/prosody.pid"
data_path = "/tmp/arch2/pros-on/data"
log = { warn = "/tmp/arch2/pros-on/prosody.log"; error = "/tmp/arch2/pros-on/prosody.err" }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { 45423 }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
s2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
network_settings = { tcp_backlog = 1024; tcp_nodelay = true }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco";
	"pep";            -- XEP-0163
	"register";       -- XEP-0077
	"ping";
	"mam";          -- XEP-0313, archiving every chat message
	"carbons";
}
modules_disabled = { "s2s"; "http" }

-- internal_plain offers SCRAM-SHA-1 (as the shared bench uses everywhere).
authentication = "internal_plain"
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
allow_registration = true
c2s_require_encryption = true
certificates = "/tmp/arch2/pros-on"
ssl = { certificate = "/tmp/arch2/pros-on/localhost.crt"; key = "/tmp/arch2/pros-on/localhost.key"; }

VirtualHost "localhost"

Component "conference.localhost" "muc"
	-- Parley's MUC archives every room message (XEP-0313); so does this one.
	modules_enabled = { "muc_mam" }
	muc_room_default_history_length = 0
	muc_room_locking = false

archive_expires_after = "1w"
default_archive_policy = true
