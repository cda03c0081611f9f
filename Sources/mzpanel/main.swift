print("mzpanel")
