//! Types, ports and adapters of the agent tools (AgentCore Gateway Lambda targets).
