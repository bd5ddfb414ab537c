# Experts, specialties, availability, conflicts and draws arrive with the expert-draw
# issue; the app is registered now so its migrations start from the foundation.
