# Complaints, red flags and cases arrive with their issues. The audit viewer and
# verifier (views.py, api.py) read the audit app's chain.
