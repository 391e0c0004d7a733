from ybt.cli import main

main()
