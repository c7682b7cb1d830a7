from tenantwatch.cli import main

main()
