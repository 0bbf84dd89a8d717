#!/usr/bin/env bash
# The official MCP Python SDK (PyPI `mcp`, pinned) in the project's virtualenv
# (.local/venv, created by moto.sh): the client the gateway tests and `make demo` use
# against `devstack gateway`. Usage: mcp.sh install
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MCP_VERSION="2.3.0"

mcp_client_install() {
    local venv="$LOCAL_DIR/venv"
    [ -x "$venv/bin/python" ] || die "mcp: $venv has no python (moto.sh creates it)"
    if "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_VERSION')" 2>/dev/null; then
        return 0
    fi
    log "mcp: pip install mcp==$MCP_VERSION"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir "mcp==$MCP_VERSION" >&2 \
        || die "pip install mcp==$MCP_VERSION failed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-install}" in
        install) mcp_client_install ;;
        *) die "usage: $0 install" ;;
    esac
fi
