// Drives mcp-paginate with the official TypeScript MCP SDK client, as the hosts built on it do
// (Claude Desktop, VS Code, ...): default request options (a 60 s timeout), tools only, no
// resource reads, and the client's own validation of results against their output schemas.
//
//   MCP_PAGINATE_COMMAND=mcp-paginate MCP_PAGINATE_ARGS='["serve", "--config", "c.toml"]' \
//     node client.mjs SCENARIO '{"input": "as JSON"}'
//
// The server is spawned over stdio with this process's environment; the scenario's result is
// one JSON document on stdout. A new scenario is one more function in SCENARIOS.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

/** The structured result of a tool call; a tool error fails the scenario with its text. */
async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) {
    throw new Error(`${name} failed: ${result.content?.[0]?.text}`);
  }
  return result.structuredContent;
}

const SCENARIOS = {
  /** The tool definitions as this client received them. */
  async tools(client) {
    const { tools } = await client.listTools();
    return tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema }));
  },

  /** Page through with list_page: the given arguments, then cursor=next_cursor to the end. */
  async list_page(client, { arguments: first }) {
    let page = await call(client, "list_page", first);
    const records = [...page.records];
    let pages = 1;
    while (page.next_cursor) {
      page = await call(client, "list_page", { cursor: page.next_cursor });
      records.push(...page.records);
      pages += 1;
    }
    return { records, pages };
  },

  /** One fetch_all call, its result as it came. */
  async fetch_all(client, { arguments: args }) {
    return await call(client, "fetch_all", args);
  },

  /**
   * Drain through repeated fetch_all calls (the first arguments, then cursor=next_cursor until
   * complete), then read every stored record back with read_results (offset=next_offset until
   * null). Resources are never read. Each call's seconds and result summary are returned.
   */
  async drain(client, { arguments: first, limit }) {
    const calls = [];
    let args = first;
    let result;
    const started = performance.now();
    do {
      const before = performance.now();
      result = await call(client, "fetch_all", args);
      calls.push({
        seconds: (performance.now() - before) / 1000,
        count: result.count,
        returned: result.returned,
        stop_reason: result.stop_reason,
        results_uri: result.results_uri,
        ids: result.records.map((record) => record.id),
      });
      args = { cursor: result.next_cursor };
    } while (!result.complete && result.next_cursor);
    const drained = (performance.now() - started) / 1000;
    const read = [];
    let offset = 0;
    let reads = 0;
    while (offset !== null) {
      const page = await call(client, "read_results", { results_uri: result.results_uri, offset, limit });
      read.push(...page.records.map((record) => record.id));
      offset = page.next_offset;
      reads += 1;
    }
    return { calls, drained, complete: result.complete, count: result.count, read, reads };
  },

  /** tools, list_page and fetch_all in one server run. */
  async basic(client, input) {
    return {
      tools: await SCENARIOS.tools(client),
      list_page: await SCENARIOS.list_page(client, input.list_page),
      fetch_all: await SCENARIOS.fetch_all(client, input.fetch_all),
    };
  },
};

async function main() {
  const [scenario = "basic", input = "{}"] = process.argv.slice(2);
  const run = SCENARIOS[scenario];
  if (!run) {
    console.error(`unknown scenario ${scenario}; one of: ${Object.keys(SCENARIOS).join(", ")}`);
    return 2;
  }
  const transport = new StdioClientTransport({
    command: process.env.MCP_PAGINATE_COMMAND ?? "mcp-paginate",
    args: JSON.parse(process.env.MCP_PAGINATE_ARGS ?? '["serve"]'),
    env: { ...process.env },
    stderr: "inherit",
  });
  const client = new Client({ name: "mcp-paginate-ts-client-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const output = await run(client, JSON.parse(input));
    process.stdout.write(JSON.stringify(output) + "\n");
  } finally {
    await client.close();
  }
  return 0;
}

process.exitCode = await main();
