"""``python -m mcp_paginate`` is the ``mcp-paginate`` command."""

from mcp_paginate.launch import main

if __name__ == "__main__":
    main()
