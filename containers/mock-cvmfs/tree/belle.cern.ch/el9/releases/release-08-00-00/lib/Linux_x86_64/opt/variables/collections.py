"""b2env MOCK CVMFS stand-in (not Belle II software): variable collections (names only)."""

kinematics = ["px", "py", "pz", "pt", "p", "E"]
mc_kinematics = ["mcPX", "mcPY", "mcPZ", "mcPT", "mcP", "mcE"]
mc_truth = ["isSignal", "mcErrors", "mcPDG"]
mc_variables = ["genMotherID", "genMotherP", "genMotherPDG", "genParticleID", "isCloneTrack",
                "mcDecayTime", "mcFSR", "mcPhotos", "mcVirtual", "mcInitial"]
deltae_mbc = ["Mbc", "deltaE"]
inv_mass = ["M", "ErrM", "SigM", "InvM"]
pid = ["kaonID", "pionID", "protonID", "muonID", "electronID", "deuteronID"]
track = ["d0", "d0Err", "phi0", "phi0Err", "omega", "omegaErr", "z0", "z0Err", "tanLambda",
         "tanLambdaErr"]
track_hits = ["nCDCHits", "nPXDHits", "nSVDHits", "nVTXHits"]
vertex = ["distance", "significanceOfDistance", "dx", "dy", "dz", "x", "y", "z", "x_uncertainty",
          "y_uncertainty", "z_uncertainty", "dr", "chiProb"]
event_meta_data = ["evtNum", "expNum", "productionIdentifier", "runNum"]
event_level_tracking = ["nExtraCDCHits", "nExtraCDCHitsPostCleaning", "hasExtraCDCHitsInLayer(0)"]
cluster = ["clusterE", "clusterTiming", "clusterTheta", "clusterPhi", "clusterNHits"]
recoil_kinematics = ["pRecoil", "pRecoilPhi", "pRecoilTheta", "pxRecoil", "pyRecoil", "pzRecoil"]
