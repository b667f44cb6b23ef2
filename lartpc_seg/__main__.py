from lartpc_seg.cli import main

raise SystemExit(main())
