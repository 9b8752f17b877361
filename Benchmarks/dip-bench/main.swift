import DistributedImaging

print("dip-bench: not written yet")
