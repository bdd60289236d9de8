-- A module whose body returns nothing: require gives true.
NILMOD_RAN = true
