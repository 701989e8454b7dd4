from keyz.cli import main

main()
