from gradquiz.cli import main

raise SystemExit(main())
