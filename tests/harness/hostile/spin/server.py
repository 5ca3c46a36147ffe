# Hostile: spins forever before printing anything.
while True:
    pass
