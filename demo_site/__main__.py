from demo_site.server import main

raise SystemExit(main())
