from solbot.cli.main import run

run()
