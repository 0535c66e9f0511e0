"""What the tests share: Pilot waits (`pilot`), run folders written file by file (`runfolders`), a
real terminal (`tmux`), a throwaway PostgreSQL server (`pgserver`) and the tiny runs (`tiny`)."""
