"""The dashboard's modal screens: help, questions, how many epochs."""
