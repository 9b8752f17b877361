#!/usr/bin/env python3
"""One-off check of the filters on full-size images (not run by `swift test`): applies each
spec with dip-client and compares with OpenCV (one thread), pixel for pixel.

Usage (from the package root, after `swift build --product dip-client`):
    python3 scripts/references/check_full_images.py ../shared/corpus/photos/chelsea.png ../shared/corpus/large/LadyBird.jpg ...
Needs: pip install opencv-python-headless numpy
"""
import cv2, numpy as np, subprocess, sys, os, tempfile
cv2.setNumThreads(1)
SH=np.array([[0,-1,0],[-1,5,-1],[0,-1,0]],np.float32)
g=lambda a: a if a.ndim==2 else cv2.cvtColor(a,cv2.COLOR_BGR2GRAY)
def sob(a):
    G=g(a); return cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(G,cv2.CV_32F,1,0,ksize=3),cv2.Sobel(G,cv2.CV_32F,0,1,ksize=3)))
def rs(a,f):
    h,w=a.shape[:2]; return cv2.resize(a,(int(w*f),int(h*f)),interpolation=cv2.INTER_AREA)
def edges(a):
    m=cv2.Canny(cv2.blur(g(a),(3,3)),5,15); o=a.copy(); o[m==0]=0; return o
specs={"gaussian(sigma: 2)":lambda a: cv2.GaussianBlur(a,(0,0),2),"gaussian(size: 5)":lambda a: cv2.GaussianBlur(a,(5,5),0),
"gaussian(sigma: 5)":lambda a: cv2.GaussianBlur(a,(0,0),5),
"box(size: 5)":lambda a: cv2.blur(a,(5,5)),"box(size: 21)":lambda a: cv2.blur(a,(21,21)),"sharpen":lambda a: cv2.filter2D(a,-1,SH),"sobel":sob,
"canny(low: 100, high: 200)":lambda a: cv2.Canny(g(a),100,200),"grayscale":g,"resize(scale: 0.5)":lambda a: rs(a,0.5),"resize(scale: 0.37)":lambda a: rs(a,0.37),
"threshold(value: 127)":lambda a: cv2.threshold(a,127,255,cv2.THRESH_BINARY)[1],"edges":edges}
files=[os.path.abspath(f) for f in sys.argv[1:]]
DIP = os.path.abspath(os.environ.get('DIP_CLIENT', '.build/debug/dip-client'))
os.chdir(tempfile.mkdtemp())
bad=0
for f in files:
    a=cv2.imread(f, cv2.IMREAD_COLOR if cv2.imread(f,cv2.IMREAD_UNCHANGED).ndim==3 else cv2.IMREAD_GRAYSCALE)
    cv2.imwrite('in.png',a)
    for spec,fn in specs.items():
        r=subprocess.run([DIP,'apply','--pipeline',spec,'in.png','out.png'],capture_output=True,text=True)
        if r.returncode: print('FAIL run',f,spec,r.stderr[:200]); bad+=1; continue
        o=cv2.imread('out.png',cv2.IMREAD_UNCHANGED); e=fn(a)
        if o.shape!=e.shape: print('SHAPE',f,spec,o.shape,e.shape); bad+=1; continue
        d=np.abs(o.astype(int)-e.astype(int))
        if d.max(): print('DIFF',f,spec,int((d>0).sum()),int(d.max())); bad+=1
    print('checked',f,a.shape,flush=True)
print('bad',bad)
