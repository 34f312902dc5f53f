from gradquiz.startup import program

raise SystemExit(program())
